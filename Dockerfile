# The action's image: the Actions runner builds it (or, on a release, pulls the prebuilt one) and runs it with
# the step's inputs as INPUT_* variables.
#
# The base is the official slim Python image, pinned by the digest of its multi-platform index (it holds the
# linux/amd64 and linux/arm64 images the release builds on): a rebuild cannot pick up another image than the
# one tested. Tag python:3.11-slim-bookworm, Python 3.11.17; docs/release.md says where the digest comes from.
# The pin has a FROM line of its own because Dependabot updates image references on FROM lines only, not in ARG
# defaults (dependabot-core#2057). BASE_IMAGE names that stage by default; the container tests pass an image
# instead (the official one by digest, or a stand-in built from Debian's packages where no registry answers).
ARG BASE_IMAGE=pinned-python
FROM python:3.11-slim-bookworm@sha256:0a310eeecf4e1f5a0743f9a6520c90c88d089c903ca5fd283f501e3a805f5f89 AS pinned-python
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
# needed; pip byte-compiles them, which saves every run that work at start), each checked against the lock's
# hashes, then drop what the action never imports:
# - cryptography (and pycparser, which only cffi's compiler needs): PyGithub requires PyJWT's crypto extra for
#   GitHub App authentication (RSA-signed JWTs). The action authenticates with a token (github.Auth.Token);
#   PyJWT imports cryptography only if it is there, and nothing else asks for it. PyNaCl and cffi's runtime
#   stay: `import github` loads PyNaCl (for repository secrets), and PyNaCl loads cffi's backend.
# - botocore's and boto3's data for every AWS service the action does not call. The top-level files of
#   botocore/data (endpoints, partitions, retry and default configuration) stay: every client needs them.
# The last line fails the build if a removal took something a client of the kept services, or the comment's
# import of PyGithub, needs. The action's package is found through a .pth file rather than PYTHONPATH: the
# runner passes the job's environment into the container, and a workflow that sets PYTHONPATH for its own code
# would otherwise hide the action from itself.
COPY requirements/runtime.txt /tmp/runtime.txt
RUN pip install --require-hashes --only-binary=:all: -r /tmp/runtime.txt \
 && pip uninstall -y -q cryptography pycparser \
 && rm /tmp/runtime.txt \
 && keep='sagemaker sagemaker-runtime s3 cloudwatch logs sns ecr sts application-autoscaling' \
 && site=$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
 && echo /opt/sagemaker-async-deploy >"$site/sagemaker-async-deploy.pth" \
 && for dir in "$site"/botocore/data/*/ "$site"/boto3/data/*/; do \
      case " $keep " in *" $(basename "$dir") "*) ;; *) rm -rf "$dir" ;; esac; \
    done \
 && python -c "import boto3; [boto3.client(s, region_name='us-east-1') for s in '$keep'.split()]" \
 && python -c "import github, github.Auth; github.Auth.Token('x')"

COPY src/sagemaker_async_deploy /opt/sagemaker-async-deploy/sagemaker_async_deploy
# PYTHONDONTWRITEBYTECODE keeps a run from writing bytecode, so compile the action once here.
RUN python -m compileall -q /opt/sagemaker-async-deploy

ENTRYPOINT ["python", "-m", "sagemaker_async_deploy"]
