#!/bin/bash
# Corpus test: imapscope reads a public capture without error, and both
# outputs match the reviewed expected files tests/corpus/NAME.{transcript,ndjson}.
# Same contract as golden.sh; --update rewrites the expected files.
exec "$(dirname "$0")/golden.sh" "$@"
