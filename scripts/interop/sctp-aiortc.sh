#!/usr/bin/env bash
# SCTP interop with aiortc: the script lives with the crate it tests.
exec "$(dirname "$0")/../../sctp/interop/aiortc.sh" "$@"
