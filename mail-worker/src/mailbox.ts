/**
 * The development mailbox: when no SMTP server is configured, every mail is
 * kept as an .eml file (openable by any mail client) with a small JSON
 * sidecar, so listing the mailbox never has to parse MIME headers.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface MailboxEntry {
  id: string;
  to: string;
  subject: string;
  date: string;
}

export interface Mailbox {
  readonly dir: string;
  save(raw: Buffer, meta: Omit<MailboxEntry, "id" | "date">): Promise<MailboxEntry>;
  /** Newest first. */
  list(limit?: number): Promise<MailboxEntry[]>;
  /** The raw message, or undefined for an unknown (or malformed) id. */
  read(id: string): Promise<string | undefined>;
}

// Ids name files, so anything else (e.g. "../x") is refused before touching the disk.
// The millisecond timestamp prefix makes file names sort by arrival.
const ID = /^\d{13,}-[0-9a-f]{8}$/;

export async function openMailbox(dir: string): Promise<Mailbox> {
  await mkdir(dir, { recursive: true });
  return {
    dir,
    async save(raw, meta) {
      const date = new Date();
      const entry: MailboxEntry = {
        id: `${date.getTime()}-${randomBytes(4).toString("hex")}`,
        ...meta,
        date: date.toISOString(),
      };
      await writeFile(join(dir, `${entry.id}.eml`), raw);
      // The sidecar appears last and atomically: a listed mail is always complete.
      const tmp = join(dir, `${entry.id}.json.tmp`);
      await writeFile(tmp, JSON.stringify(entry));
      await rename(tmp, join(dir, `${entry.id}.json`));
      return entry;
    },
    async list(limit = 100) {
      const ids = (await readdir(dir))
        .filter((f) => f.endsWith(".json"))
        .map((f) => f.slice(0, -".json".length))
        .filter((id) => ID.test(id))
        .sort()
        .reverse()
        .slice(0, limit);
      const entries = await Promise.all(
        ids.map(async (id) => {
          try {
            return JSON.parse(await readFile(join(dir, `${id}.json`), "utf8")) as MailboxEntry;
          } catch {
            return undefined; // removed by hand meanwhile
          }
        }),
      );
      return entries.filter((e) => e !== undefined);
    },
    async read(id) {
      if (!ID.test(id)) return undefined;
      try {
        return await readFile(join(dir, `${id}.eml`), "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
  };
}
