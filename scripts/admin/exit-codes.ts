/** The admin commands' exit codes; documented in scripts/admin.ts and the README. */
export const DONE = 0;
/** The infrastructure (named with its variable) did not answer: worth trying again later. */
export const UNREACHABLE = 1;
export const BAD_USAGE = 2;
/** No such user, room or dead-letter queue: trying again will not help. */
export const NOT_FOUND = 3;
