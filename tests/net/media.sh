# media.sh - an image part reaches each provider in the form it documents:
# an OpenAI image_url content part with a base64 data URL, an Anthropic
# base64 image block, Ollama's "images" array; the structured output goes as
# response_format / a forced tool / format.
# Usage: sh media.sh FLOWC MOCKSERVER REPO_ROOT
. "$(dirname "$0")/lib.sh" "$@"
ROOT=$(cd "${3:?usage: sh media.sh FLOWC MOCKSERVER REPO_ROOT}" && pwd)
cd "$TMP" || exit 2
start_mock --lifetime 60
mkdir -p photos && cp "$ROOT/examples/product/photos/mug.png" photos/
cat > m.flow <<FLOW
model gpt { provider: openai, name: "gpt-v", base_url: "http://127.0.0.1:$PORT/v1", max_tokens: 50, vision: true }
model claude { provider: anthropic, name: "claude-v", base_url: "http://127.0.0.1:$PORT", max_tokens: 50, vision: true }
model llava { provider: ollama, name: "llava", base_url: "http://127.0.0.1:$PORT", max_tokens: 50, vision: true }
context photo: image = image("photos/mug.png")
type Caption { text: string }
prompt a(t: string) -> Caption {
  model: gpt
  user "Describe {{ t }}"
  user image photo
}
prompt b(t: string) -> Caption {
  model: claude
  user "Describe {{ t }}"
  user image photo
}
prompt c(t: string) -> Caption {
  model: llava
  user "Describe {{ t }}"
  user image photo
}
type Out { a: string, b: string, c: string }
flow main(t: string) -> Out { yield Out { a: a(t).text, b: b(t).text, c: c(t).text } }
FLOW
printf '"the mug"\n' > in.jsonl
ANTHROPIC_API_KEY=sk-test run "$FLOWC" run m.flow --input in.jsonl
expect_status 0 "image prompts on three providers"
curl -s "http://127.0.0.1:$PORT/requests" > requests.jsonl
"$PYTHON" - requests.jsonl <<'PY'
import json, sys
seen = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    body = r.get("body")
    if not isinstance(body, dict):
        continue
    path = r["path"]
    if path.endswith("/chat/completions"):
        parts = body["messages"][-1]["content"]
        ok = any(p.get("type") == "image_url" and p["image_url"]["url"].startswith("data:image/png;base64,") for p in parts)
        ok = ok and any(p.get("type") == "text" for p in parts) and body["response_format"]["type"] == "json_schema"
        seen["openai"] = ok
    elif path.endswith("/messages"):
        blocks = body["messages"][-1]["content"]
        ok = any(b.get("type") == "image" and b["source"]["type"] == "base64" and b["source"]["media_type"] == "image/png"
                 for b in blocks)
        ok = ok and body["tool_choice"]["type"] == "tool" and body["tools"][0]["input_schema"]["type"] == "object"
        seen["anthropic"] = ok
    elif path.endswith("/api/chat"):
        msg = body["messages"][-1]
        ok = isinstance(msg.get("images"), list) and len(msg["images"]) == 1 and isinstance(body.get("format"), dict)
        seen["ollama"] = ok and body.get("stream") is False
print("request shapes:", seen)
sys.exit(0 if seen == {"openai": True, "anthropic": True, "ollama": True} else 1)
PY
if [ $? -eq 0 ]; then pass; else fails=$((fails + 1)); echo "FAIL: an image request lacks the fields its provider documents"; fi

# an image to a binding that is not vision-capable is refused before anything is sent
sed 's/, vision: true }/ }/' m.flow > novision.flow
run "$FLOWC" check novision.flow
expect_status 1 "image to a text-only binding"
expect_contains err "error[E0307]" "E0307 for an image to a text-only binding"
finish
