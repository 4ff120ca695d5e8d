#!/usr/bin/env bash
# Synthesizes Rampart's CDK app offline into cdk.out/ and lints the result:
# installs the pinned CDK CLI (npm ci) if needed, builds the functions
# (make build), runs `cdk synth` (cdk-nag's AwsSolutions errors fail it) and
# cfn-lint on every template (errors fail; warnings are printed).
# No AWS credentials needed: without rampart:account or CDK_DEFAULT_ACCOUNT
# the stacks are synthesized for a placeholder account.
# Usage: infra/scripts/synth.sh [extra cdk synth args, e.g. -c rampart:account=123456789012]
set -euo pipefail
cd "$(dirname "$0")/../.."

export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export CDK_DISABLE_CLI_TELEMETRY=true
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="${JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION:-1}"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-20}"

if [ ! -x node_modules/.bin/cdk ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	npm ci --no-audit --no-fund
fi

make build

rm -rf cdk.out
start=$(date +%s)
npx --no-install cdk synth --no-notices -q "$@"
echo "cdk synth: $(($(date +%s) - start)) s" >&2

# What each region gets (the app writes it; docs/deploy.md explains it).
cat cdk.out/rampart-plan.txt >&2

bash infra/scripts/lint.sh
