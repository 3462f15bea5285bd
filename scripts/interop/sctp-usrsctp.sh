#!/usr/bin/env bash
# SCTP interop with usrsctp: the script lives with the crate it tests.
exec "$(dirname "$0")/../../sctp/interop/usrsctp.sh" "$@"
