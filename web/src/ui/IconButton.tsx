import type { ReactNode } from "react";

/** A button showing only a symbol: its label is what screen readers and tooltips say. */
export function IconButton({ label, onClick, children }: { label: string; onClick: () => void; children: ReactNode }) {
  return (
    <button type="button" className="icon-button" aria-label={label} title={label} onClick={onClick}>
      <span aria-hidden="true">{children}</span>
    </button>
  );
}
