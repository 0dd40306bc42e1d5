#!/usr/bin/env bash
# Runs the part of the Ceph S3 compatibility suite (github.com/ceph/s3-tests) that covers what this project uses —
# objects, listings, ranges, conditional requests, multipart, copy, metadata, checksums, versioning, presigned URLs —
# against a local stack, and prints "passed/total". The suite is not vendored: pass the path of your checkout.
#
#   scripts/s3-compat.sh /path/to/s3-tests [ENDPOINTS_JSON]
#
# Without ENDPOINTS_JSON a stack is started on a fresh data directory and stopped afterwards (its whole process
# group). Needs a Python (PYTHON, default /usr/bin/python3, where Debian's packages land) with boto3, pytest and the
# suite's extra modules: apt-get install python3-boto3 python3-pytest python3-munch python3-isodate python3-requests
# python3-httplib2.
# S3_COMPAT_FILTER (a pytest -k expression) runs part of the selection. A boto3 newer than Debian 12's sends the tests
# that use newer parameters: PYTHONPATH=<dir with boto3, botocore, s3transfer> (README.md, "Durable local stack").
# Results (junit XML, the selection and the summary) go to bench/results/s3-compat-<time>/.
set -euo pipefail
PYTHON=${PYTHON:-/usr/bin/python3}
SUITE=${1:?usage: scripts/s3-compat.sh /path/to/s3-tests [endpoints.json]}
SUITE=$(cd "$SUITE" && pwd)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$ROOT/bench/results/s3-compat-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"

STACK_PID=
cleanup() {
  if [ -n "$STACK_PID" ]; then
    kill -TERM -- "-$STACK_PID" 2>/dev/null || true
    wait "$STACK_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

ENDPOINTS=${2:-}
if [ -z "$ENDPOINTS" ]; then
  DATA=$(mktemp -d)
  setsid node "$ROOT/bin/secure-transcode.js" up --data-dir "$DATA" >"$OUT/stack.log" 2>&1 &
  STACK_PID=$!
  ENDPOINTS="$DATA/endpoints.json"
  for _ in $(seq 1 120); do [ -s "$ENDPOINTS" ] && break; sleep 0.5; done
  [ -s "$ENDPOINTS" ] || { echo "the stack did not start; see $OUT/stack.log" >&2; exit 1; }
fi

read -r HOST PORT KEY SECRET < <("$PYTHON" - "$ENDPOINTS" <<'PY'
import json, sys, urllib.parse
e = json.load(open(sys.argv[1]))
u = urllib.parse.urlparse(e["endpoints"]["s3"])
print(u.hostname, u.port, e["credentials"]["accessKeyId"], e["credentials"]["secretAccessKey"])
PY
)

CONF="$OUT/s3tests.conf"
{
  printf '[DEFAULT]\nhost = %s\nport = %s\nis_secure = False\nssl_verify = False\n' "$HOST" "$PORT"
  printf '[fixtures]\nbucket prefix = compat-{random}-\n'
  for section in 's3 main' 's3 alt' 's3 tenant' 'iam' 'iam root' 'iam alt root'; do
    printf '[%s]\ndisplay_name = local\nuser_id = local\nemail = local@example.com\ntenant = local\n' "$section"
    printf 'access_key = %s\nsecret_key = %s\napi_name = default\n' "$KEY" "$SECRET"
  done
} >"$CONF"

# The subset: tests named after the features above, minus the features this project does not use (ACLs, policies,
# lifecycle, encryption, CORS, websites, object lock, tagging of buckets, POST uploads, IAM/STS, storage classes…).
grep -o '^def test_[a-z0-9_]*' "$SUITE/s3tests/functional/test_s3.py" | sed 's/^def //' |
  grep -E 'object|list|range|multipart|copy|metadata|checksum|version|presign|match|modified|conditional|head|delete' |
  grep -vE '_enc$|object_writer|access_bucket|not_owned|acl|policy|lifecycle|lc_|sse|encryption|cors|website|object_lock|lock|tagging|torrent|logging|select|ownership|post_object|storage_class|restore|append|sts|iam|grant|public|anon|cloud|transition|notification|bucket_create|_bucket_head_extended|atomic|_tag|accelerate|attributes|encrypt|kms|ssec|sns|rgw|bucket_policy|expir|owner|request_payment|non_exist|user_' \
    >"$OUT/selection.txt"
sed 's|^|s3tests/functional/test_s3.py::|' "$OUT/selection.txt" >"$OUT/node-ids.txt"

cd "$SUITE"
set +e
S3TEST_CONF="$CONF" "$PYTHON" -m pytest -q -p no:cacheprovider --junitxml="$OUT/junit.xml" \
  ${S3_COMPAT_FILTER:+-k "$S3_COMPAT_FILTER"} $(cat "$OUT/node-ids.txt") >"$OUT/pytest.log" 2>&1
set -e
"$PYTHON" - "$OUT/junit.xml" "$OUT/summary.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
passed, failed, client = [], [], []
for c in root.iter("testcase"):
    problems = list(c)
    text = " ".join((p.get("message") or "") + (p.text or "") for p in problems)
    if not problems:
        passed.append(c.get("name"))
    elif "ParamValidationError" in text:
        # The client refused a parameter newer than itself before sending anything: says nothing about the server.
        client.append(c.get("name"))
    else:
        failed.append(c.get("name"))
total = len(passed) + len(failed) + len(client)
summary = {"passed": len(passed), "total": total, "clientRejected": sorted(client), "failed": sorted(failed)}
json.dump(summary, open(sys.argv[2], "w"), indent=2)
print(f"s3-tests subset: {len(passed)}/{total} passed ({100 * len(passed) / max(total, 1):.1f}%); "
      f"{len(client)} not sent (parameters this client does not know); "
      f"{len(passed)}/{total - len(client)} of the tests the client could send")
PY
echo "details: $OUT"
