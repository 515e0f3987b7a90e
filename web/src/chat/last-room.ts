/** The room last opened, so `/` brings the user back to it (only its id; no content is stored). */
const KEY = "parley:last-room";

export function rememberRoom(roomId: string): void {
  try {
    localStorage.setItem(KEY, roomId);
  } catch {
    // Storage may be off (private mode): `/` then shows the room list.
  }
}

export function lastRoom(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export function forgetRoom(roomId: string): void {
  if (lastRoom() === roomId) localStorage.removeItem(KEY);
}
