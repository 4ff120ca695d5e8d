#!/usr/bin/env bash
# cfn-lint on every synthesized template in cdk.out/ (synthesized first by
# synth.sh when there is none). Errors fail;
# warnings and informational findings are printed and do not.
set -euo pipefail
cd "$(dirname "$0")/../.."

shopt -s nullglob
# The regional stacks, and in organization mode the member accounts'
# template (the StackSet's body, synthesized into cdk.out/member/).
templates=(cdk.out/*.template.json cdk.out/member/*.template.json)
if [ ${#templates[@]} -eq 0 ]; then
	# Nothing synthesized yet (a clean clone): synth.sh synthesizes, then runs this.
	exec bash infra/scripts/synth.sh
fi
if ! command -v cfn-lint >/dev/null; then
	echo "cfn-lint not found: pip install cfn-lint==1.51.0" >&2
	exit 1
fi
# cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
rc=0
cfn-lint "${templates[@]}" || rc=$?
if [ $((rc & 1)) -ne 0 ] || [ $((rc & 2)) -ne 0 ]; then
	echo "cfn-lint: errors in the synthesized templates" >&2
	exit 1
fi
echo "cfn-lint: ${#templates[@]} templates, no errors"
# cdk-nag's report, for the record (its errors already failed the synth).
for r in cdk.out/AwsSolutions-*-NagReport.csv cdk.out/member/AwsSolutions-*-NagReport.csv; do
	printf '%s: %s suppressed, %s non-compliant\n' "$(basename "$r")" \
		"$(grep -c '"Suppressed"' "$r" || true)" "$(grep -c '"Non-Compliant"' "$r" || true)"
done
