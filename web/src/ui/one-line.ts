/** Text for a place with room for one line (a placeholder, a label): line breaks and runs of spaces become one space. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
