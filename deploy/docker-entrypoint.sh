#!/bin/sh
# The image's entrypoint: runs its arguments (by default `clinic serve`).
#
# MIGRATE_ON_START=1 applies the migrations and loads the demo catalog before
# `clinic serve`, for platforms with no separate migration step (Amvera). It is
# safe with several replicas starting at once: yoyo applies under a database lock
# and the seed is idempotent. docker-compose and Kubernetes run `clinic migrate`
# as a one-shot service / Job instead and leave it unset.
set -eu

if [ "${MIGRATE_ON_START:-0}" = "1" ] && [ "${1:-}" = "clinic" ] && [ "${2:-}" = "serve" ]; then
    clinic migrate
    clinic seed
fi

exec "$@"
