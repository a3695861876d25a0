#!/bin/sh
# Stand-in for Prisma's native schema engine (see prisma.config.ts). `prisma generate` only checks
# that this file exists; anything that would really run the engine lands here.
echo "The native Prisma schema engine is not installed here: use npm run db:migrate | db:status | db:diff (scripts/db.ts), or set PRISMA_USE_NATIVE_ENGINE=1." >&2
exit 1
