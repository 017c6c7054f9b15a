# The action's image: the Actions runner builds it (or, on a release, pulls the prebuilt one) and runs it with
# the step's inputs as INPUT_* variables. Tests pass a local stand-in of the same base as BASE_IMAGE.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}

# PYTHONSAFEPATH: `python -m` would otherwise put the working directory, the user's checked-out repository,
# first on sys.path, where a `boto3/` or `json.py` of theirs would shadow what the action imports.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONSAFEPATH=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# One layer: install the locked runtime dependencies from wheels only (no compiler in the image, and none
# needed; pip byte-compiles them, which saves every run that work at start), then drop botocore's and boto3's
# data for every AWS service the action does not call. The top-level files of botocore/data (endpoints,
# partitions, retry and default configuration) stay: every client needs them. The last line fails the build
# if the trim removed something a client of the kept services needs. actions-toolkit's wheel also installs its
# own test suite as a top-level `tests` package, which nothing imports. The action's package is found through
# a .pth file rather than PYTHONPATH: the runner passes the job's environment into the container, and a
# workflow that sets PYTHONPATH for its own code would otherwise hide the action from itself.
COPY requirements/runtime.txt /tmp/runtime.txt
RUN pip install --only-binary=:all: -r /tmp/runtime.txt \
 && rm /tmp/runtime.txt \
 && keep='sagemaker cloudwatch logs sns ecr sts application-autoscaling' \
 && site=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
 && rm -rf "$site/tests" \
 && echo /opt/sagemaker-async-deploy >"$site/sagemaker-async-deploy.pth" \
 && for dir in "$site"/botocore/data/*/ "$site"/boto3/data/*/; do \
      case " $keep " in *" $(basename "$dir") "*) ;; *) rm -rf "$dir" ;; esac; \
    done \
 && python -c "import boto3; [boto3.client(s, region_name='us-east-1') for s in '$keep'.split()]"

COPY src/sagemaker_async_deploy /opt/sagemaker-async-deploy/sagemaker_async_deploy
# PYTHONDONTWRITEBYTECODE keeps a run from writing bytecode, so compile the action once here.
RUN python -m compileall -q /opt/sagemaker-async-deploy

ENTRYPOINT ["python", "-m", "sagemaker_async_deploy"]
