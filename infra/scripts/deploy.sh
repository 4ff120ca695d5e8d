#!/usr/bin/env bash
# Deploys Rampart: one stack per covered region (cdk.json's rampart:regions,
# "all" by default: every region enabled in the account, resolved here), to
# the account of rampart:account or, failing that, of the current credentials.
# Synthesizes and lints first (synth.sh), then runs `cdk deploy`.
# Prerequisites (docs/deploy.md): `npx cdk bootstrap aws://ACCOUNT/REGION`
# in each region, and an AWS Config recorder in each region for the Config
# rules. Usage: infra/scripts/deploy.sh [extra cdk deploy args, e.g. --require-approval never]
# RAMPART_ALLOW_UNCOVERED=1 deploys even when enabled regions are left uncovered.
set -euo pipefail
cd "$(dirname "$0")/../.."

export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export CDK_DISABLE_CLI_TELEMETRY=true
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="${JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION:-1}"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-20}"

# --- Regions: resolve the enabled ones, and name those left uncovered. ---
# The account's enabled regions (opt-in regions included once opted into),
# as a JSON list; empty without credentials.
enabled_regions_json() {
	aws ec2 describe-regions --region "${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}" \
		--filters Name=opt-in-status,Values=opt-in-not-required,opted-in \
		--query 'Regions[].RegionName' --output json 2>/dev/null | tr -d ' \n'
}
# Compares the enabled regions with the stacks synthesized in cdk.out and
# fails, naming them, when some are not covered (unless allowed).
check_uncovered_regions() {
	local enabled=$1 covered uncovered
	covered=$(grep -o '"aws://[0-9]*/[a-z0-9-]*"' cdk.out/manifest.json | sed 's|.*/||; s|"||' | sort -u)
	uncovered=$(printf '%s' "$enabled" | tr -d '[]"' | tr ',' '\n' | grep -vxF -f <(printf '%s\n' "$covered") || true)
	if [ -n "$uncovered" ]; then
		echo "deploy: enabled regions NOT covered by Rampart: $(echo $uncovered)" >&2
		echo "        set \"rampart:regions\": \"all\" (or add them), or RAMPART_ALLOW_UNCOVERED=1 to deploy anyway" >&2
		[ "${RAMPART_ALLOW_UNCOVERED:-}" = 1 ] || exit 1
	else
		echo "deploy: every enabled region is covered ($(echo "$covered" | wc -l) regions)" >&2
	fi
}
enabled=$(enabled_regions_json || true)
region_args=()
if [ -n "$enabled" ] && [ "$enabled" != "[]" ]; then
	region_args=(-c "rampart:enabledRegions=$enabled")
else
	echo "deploy: could not list the account's enabled regions (ec2:DescribeRegions): \"all\" means the default ones" >&2
fi

bash infra/scripts/synth.sh "${region_args[@]}"
[ -z "$enabled" ] || [ "$enabled" = "[]" ] || check_uncovered_regions "$enabled"
# --- end of regions ---
# Without rampart:account and without credentials the app synthesizes for a
# placeholder account: refuse here rather than half-way through the deploy.
if grep -q 'aws://123456789012/' cdk.out/manifest.json; then
	echo "deploy: synthesized for the placeholder account 123456789012: set rampart:account in cdk.json" >&2
	echo "        (-c rampart:account=...) or run with AWS credentials so the CDK finds your account" >&2
	exit 1
fi
# Deploy the assembly just checked, not a fresh synth.
npx --no-install cdk deploy --no-notices --app cdk.out --all "$@"
