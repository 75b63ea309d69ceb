#!/usr/bin/env bash
# The cost of constrained decoding: for each model, `smol generate` under several JSON Schemas
# (sampled, so that the walk explores the grammar), and the same prompt unconstrained, in one
# run. Prints the masking time per token, the decode step, and masking as a share of the step.
#
#   Benchmarks/grammar.sh                                   # the default model
#   MODELS="SmolLM2-135M-Instruct bench-smollm3-3b-shape" TOKENS=96 Benchmarks/grammar.sh
#
# MODELS  names under Models/ or folder paths; TOKENS  tokens per run; SEEDS  seeds per schema.
# Needs a release build (built here if missing). Run it on an otherwise idle machine.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
cd "$root"
swift build -c release --product smol >/dev/null
smol="$(swift build -c release --show-bin-path)/smol"
tokens="${TOKENS:-96}"
seeds="${SEEDS:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cat >"$work/person.json" <<'EOF'
{"type": "object", "properties": {"name": {"type": "string", "maxLength": 40}, "age": {"type": "integer", "minimum": 0},
 "email": {"type": "string", "format": "email"}, "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5}},
 "required": ["name", "age", "email", "tags"], "additionalProperties": false}
EOF
cat >"$work/nested.json" <<'EOF'
{"type": "object", "$defs": {"item": {"type": "object", "properties": {"id": {"type": "string", "format": "uuid"},
 "qty": {"type": "integer"}, "price": {"type": "number"}, "note": {"anyOf": [{"type": "string"}, {"type": "null"}]}},
 "required": ["id", "qty", "price", "note"], "additionalProperties": false}},
 "properties": {"order": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}, "day": {"type": "string", "format": "date"},
 "items": {"type": "array", "items": {"$ref": "#/$defs/item"}, "minItems": 1}},
 "required": ["order", "day", "items"], "additionalProperties": false}
EOF
cat >"$work/any.json" <<'EOF'
{"type": "object", "additionalProperties": true}
EOF

printf '%-28s %-8s %6s %12s %12s %10s %8s\n' model schema seed "mask ms/tok" "step ms/tok" "mask share" states
for m in ${MODELS:-SmolLM2-135M-Instruct}; do
  dir="$m"; [ -d "$dir" ] || dir="Models/$m"
  [ -d "$dir" ] || { echo "no model folder $m" >&2; exit 1; }
  # Unconstrained decode steps: same prompt, length and sampling (EOS ignored: every run
  # decodes $tokens), the baseline and its run-to-run noise.
  for seed in $(seq 1 "$seeds"); do
    free="$("$smol" generate --model "$dir" "Describe an order as JSON." --max-tokens "$tokens" --temperature 1.0 --seed "$seed" \
            --ignore-eos --verbose 2>&1 >/dev/null | grep -o 'decode [0-9.]* tok/s' | grep -o '[0-9.]*' || true)"
    printf '%-28s %-8s %6s %12s %12s %10s %8s\n' "$m" none "$seed" - "$(awk -v t="$free" 'BEGIN{ if (t>0) printf "%.2f", 1000/t; else print "?" }')" - -
  done
  for s in person nested any; do
    for seed in $(seq 1 "$seeds"); do
      out="$("$smol" generate --model "$dir" "Describe an order as JSON." --json-schema "$work/$s.json" --max-tokens "$tokens" \
             --temperature 1.0 --seed "$seed" --verbose 2>&1 >/dev/null)"
      mask="$(grep -o 'grammar: [0-9.]* ms' <<<"$out" | grep -o '[0-9.]*' | head -1)"
      states="$(grep -o '([0-9]* automaton states)' <<<"$out" | grep -o '[0-9]*' | head -1)"
      tps="$(grep -o 'decode [0-9.]* tok/s' <<<"$out" | grep -o '[0-9.]*' | head -1)"
      awk -v m="$m" -v s="$s" -v seed="$seed" -v mask="$mask" -v tps="$tps" -v st="$states" 'BEGIN{
        step = (tps > 0) ? 1000 / tps : 0
        printf "%-28s %-8s %6s %12.2f %12.2f %9.1f%% %8s\n", m, s, seed, mask, step, (step > 0 ? 100 * mask / step : 0), st }'
    done
  done
done
