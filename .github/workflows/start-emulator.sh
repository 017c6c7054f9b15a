#!/usr/bin/env bash
# Start the local SageMaker emulator for the self-test workflow and point the job's later steps at it.
#
# The runner starts a container action on Docker's bridge network, where 127.0.0.1 is the container itself.
# The emulator listens on the runner's loopback, so socat forwards the bridge gateway's port 5000 to it, and
# AWS_ENDPOINT_URL names the gateway.
set -euo pipefail

log="$RUNNER_TEMP/emulator.log"
python -m sagemaker_emulator --port 5000 --create-seconds 2 --update-seconds 2 --rollback-seconds 2 \
  >"$log" 2>&1 &

for _ in $(seq 1 60); do
  if curl -fsS http://127.0.0.1:5000/_emulator/health >/dev/null 2>&1; then
    break
  fi
  sleep 1
done
curl -fsS http://127.0.0.1:5000/_emulator/health >/dev/null || { cat "$log"; exit 1; }

gateway=$(docker network inspect bridge --format '{{(index .IPAM.Config 0).Gateway}}')
command -v socat >/dev/null || { sudo apt-get update -qq && sudo apt-get install -y -qq socat >/dev/null; }
socat "TCP-LISTEN:5000,bind=${gateway},fork,reuseaddr" TCP:127.0.0.1:5000 >>"$log" 2>&1 &
echo "AWS_ENDPOINT_URL=http://${gateway}:5000" >>"$GITHUB_ENV"
echo "emulator on 127.0.0.1:5000, reachable from containers at ${gateway}:5000"
