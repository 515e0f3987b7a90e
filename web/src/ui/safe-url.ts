/** Only http(s) URLs become links or images: `javascript:`, `data:` and the like never reach an attribute. */
export function safeHttpUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Images load over https only (the CSP allows img-src https:). */
export function safeImageUrl(text: string): string | undefined {
  const url = safeHttpUrl(text);
  return url?.startsWith("https:") ? url : undefined;
}
