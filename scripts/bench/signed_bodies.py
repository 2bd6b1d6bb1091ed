"""Writes a wrk Lua script that rotates 2,000 distinct generic webhooks, each signed with
the secret given (wrk's Lua cannot compute an HMAC). Used by the ingest benchmarks.

    python3 signed_bodies.py OUT.lua SECRET
"""
import hmac, hashlib, json, sys
out, secret = sys.argv[1], sys.argv[2].encode()
lines = ["local bodies = {}", "local signatures = {}"]
for i in range(2000):
    body = json.dumps({"id": f"m{i}", "conversation": f"c{i % 200}", "text": f"message number {i} about the API plan",
                       "sender": {"id": f"u{i % 200}", "name": "Customer %d" % (i % 200), "email": f"c{i % 200}@example.com"},
                       "sent_at": "2026-11-24T10:00:00Z"}, separators=(",", ":"))
    sig = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    lines.append("bodies[%d] = %s; signatures[%d] = 'sha256=%s'" % (i + 1, json.dumps(body), i + 1, sig))
lines.append("""
-- Requests are formatted in init(), once wrk knows the Host header.
local requests = {}
init = function(args)
  for i = 1, #bodies do
    requests[i] = wrk.format('POST', '/hooks/generic/bench',
      {['Content-Type'] = 'application/json', ['X-Liaison-Signature'] = signatures[i]}, bodies[i])
  end
end
local counter = 0
request = function()
  counter = counter + 1
  return requests[(counter % #requests) + 1]
end
""")
open(out, "w").write("\n".join(lines))
