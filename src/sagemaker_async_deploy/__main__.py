"""Entry point of the action's container: ``python -m sagemaker_async_deploy``."""

import sys

from . import cancel

cancel.install()  # before the imports below (boto3 takes a while): a signal during them is noted, not a traceback

from .main import main  # noqa: E402

sys.exit(main())
