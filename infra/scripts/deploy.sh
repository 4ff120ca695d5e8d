#!/usr/bin/env bash
# Deploys Rampart: one stack per covered region (cdk.json's rampart:regions,
# "all" by default: every region enabled in the account, resolved here), to
# the account of rampart:account or, failing that, of the current credentials.
# Synthesizes and lints first (synth.sh), then runs `cdk deploy`.
# Prerequisites (docs/deploy.md): `npx cdk bootstrap aws://ACCOUNT/REGION`
# in each region, and an AWS Config recorder in each region for the Config
# rules. Usage: infra/scripts/deploy.sh [extra cdk deploy args, e.g. --require-approval never]
# Refuses an empty rampart:notificationEmail (say "none" when no e-mail is
# wanted) and a dist/ that is stale or not linux/arm64.
# RAMPART_ALLOW_UNCOVERED=1 deploys even when enabled regions are left uncovered.
set -euo pipefail
cd "$(dirname "$0")/../.."

export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
export CDK_DISABLE_CLI_TELEMETRY=true
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="${JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION:-1}"
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="${JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION:-20}"

# The effective value of a context key: the last -c/--context KEY=VALUE
# among the arguments, else cdk.json's (JSON-encoded either way for arrays).
setting() {
	local key=$1 value="" have=0 next=0 a
	for a in "${ARGS[@]}"; do
		if [ "$next" = 1 ]; then
			next=0
			case "$a" in "$key="*) value=${a#"$key="}; have=1 ;; esac
			continue
		fi
		case "$a" in
			-c | --context) next=1 ;;
			--context="$key="*) value=${a#"--context=$key="}; have=1 ;;
		esac
	done
	if [ "$have" = 1 ]; then
		printf '%s' "$value"
		return
	fi
	node -e 'const v = require("./cdk.json").context?.[process.argv[1]]; process.stdout.write(v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v))' "$key"
}
ARGS=("$@")

# Alerts nobody reads are no alerts: an empty notification address is refused
# unless the settings say explicitly that no e-mail is wanted ("none").
email=$(setting rampart:notificationEmail)
if [ -z "$email" ]; then
	echo "deploy: rampart:notificationEmail is empty: nobody would receive Rampart's alerts." >&2
	echo "        Set an address in cdk.json (or -c rampart:notificationEmail=security@example.com)," >&2
	echo "        or \"none\" if you subscribe to the rampart-notifications topic another way." >&2
	exit 1
fi

# synth.sh gets the context overrides (cdk deploy --app cdk.out reads none).
CTX=()
for ((i = 0; i < ${#ARGS[@]}; i++)); do
	case "${ARGS[i]}" in
		-c | --context) CTX+=("${ARGS[i]}" "${ARGS[i + 1]:-}"); i=$((i + 1)) ;;
		--context=*) CTX+=("${ARGS[i]}") ;;
	esac
done
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

bash infra/scripts/synth.sh ${CTX[@]+"${CTX[@]}"} ${region_args[@]+"${region_args[@]}"}
[ -z "$enabled" ] || [ "$enabled" = "[]" ] || check_uncovered_regions "$enabled"
# --- end of regions ---

# What cdk deploys is dist/: refuse a binary older than the code it is built
# from (an interrupted or foreign build) or built for another architecture
# than the functions' arm64 (GOARCH=amd64 make build).
dist=$(setting rampart:distDir)
dist=${dist:-dist}
sources() { git ls-files -z -- 'functions/*.go' 'internal/*.go' go.mod go.sum 2>/dev/null || find functions pkg go.mod go.sum -name '*.go' -print0 -o -name 'go.*' -print0; }
for fn in functions/*/; do
	fn=$(basename "$fn")
	bin="$dist/$fn/bootstrap"
	if [ ! -f "$bin" ]; then
		echo "deploy: $bin is missing: run make build" >&2
		exit 1
	fi
	newer=$(sources | xargs -0 -r sh -c 'find "$@" -newer "$0" -print' "$bin" | head -n 1)
	if [ -n "$newer" ]; then
		echo "deploy: $bin is older than $newer: run make build" >&2
		exit 1
	fi
	# ELF header: magic, 64-bit (EI_CLASS 2), little-endian, e_machine 0xb7 (AArch64).
	if [ "$(od -An -tx1 -N20 "$bin" | tr -d ' \n')" != "7f454c460201010000000000000000000200b700" ]; then
		echo "deploy: $bin is not a linux/arm64 executable ($(file -b "$bin" 2>/dev/null || echo 'unknown format')): run make build (GOARCH=arm64)" >&2
		exit 1
	fi
done
# Without rampart:account and without credentials the app synthesizes for a
# placeholder account: refuse here rather than half-way through the deploy.
if grep -q 'aws://123456789012/' cdk.out/manifest.json; then
	echo "deploy: synthesized for the placeholder account 123456789012: set rampart:account in cdk.json" >&2
	echo "        (-c rampart:account=...) or run with AWS credentials so the CDK finds your account" >&2
	exit 1
fi
# Deploy the assembly just checked, not a fresh synth.
npx --no-install cdk deploy --no-notices --app cdk.out --all "$@"
