"""Entry point of the action's container: ``python -m sagemaker_async_deploy``."""

import sys

from .main import main

sys.exit(main())
