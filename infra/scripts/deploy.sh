#!/usr/bin/env bash
# Deploys Rampart: one stack per region in cdk.json's rampart:regions, to the
# account of rampart:account or, failing that, of the current credentials.
# Synthesizes and lints first (synth.sh), then runs `cdk deploy`.
# Prerequisites (docs/deploy.md): `npx cdk bootstrap aws://ACCOUNT/REGION`
# in each region, and an AWS Config recorder in each region for the Config
# rules. Usage: infra/scripts/deploy.sh [extra cdk deploy args, e.g. --require-approval never]
set -euo pipefail
cd "$(dirname "$0")/../.."

export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export CDK_DISABLE_CLI_TELEMETRY=true
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="${JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION:-1}"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-20}"

bash infra/scripts/synth.sh
# Without rampart:account and without credentials the app synthesizes for a
# placeholder account: refuse here rather than half-way through the deploy.
if grep -q 'aws://123456789012/' cdk.out/manifest.json; then
	echo "deploy: synthesized for the placeholder account 123456789012: set rampart:account in cdk.json" >&2
	echo "        (-c rampart:account=...) or run with AWS credentials so the CDK finds your account" >&2
	exit 1
fi
# Deploy the assembly just checked, not a fresh synth.
npx --no-install cdk deploy --no-notices --app cdk.out --all "$@"
