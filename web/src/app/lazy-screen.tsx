/**
 * Screens loaded on demand, whose failed load offers a retry instead of
 * leaving the page blank (a chunk or its CSS that cannot be fetched: a
 * network gone mid-load, or a deploy that replaced the files).
 */
import { Component, type ComponentType, type LazyExoticComponent, lazy, type ReactNode } from "react";

export interface LazyScreen<P extends object> {
  readonly Component: LazyExoticComponent<ComponentType<P>>;
  /** Forgets a failed load, so the next render fetches again (React.lazy keeps a failure for good). */
  retry(): void;
}

export function lazyScreen<P extends object>(load: () => Promise<{ default: ComponentType<P> }>): LazyScreen<P> {
  let current = lazy(load);
  return {
    get Component() {
      return current;
    },
    retry() {
      current = lazy(load);
    },
  };
}

interface BoundaryProps {
  screen: { retry(): void };
  /** Called on every render, so a retry renders the screen's new loader. */
  children: () => ReactNode;
}

export class LoadBoundary extends Component<BoundaryProps, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override componentDidCatch(error: unknown): void {
    console.warn("loading a screen:", error);
  }

  override render(): ReactNode {
    if (!this.state.failed) return this.props.children();
    return (
      <div className="loading" role="alert">
        <span>This part of Parley could not be loaded.</span>
        <button
          type="button"
          onClick={() => {
            this.props.screen.retry();
            this.setState({ failed: false });
          }}
        >
          Try again
        </button>
      </div>
    );
  }
}
