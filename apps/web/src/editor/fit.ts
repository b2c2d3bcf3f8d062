/**
 * The editor's fit-to-view: the whole graph when it fits at a readable zoom, otherwise a readable zoom (node
 * text about 8 px and up) anchored at the graph's left, so the first nodes show and the rest is a pan away.
 * Space at the bottom is kept free for the minimap and the zoom controls, so they never cover a node.
 */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface FitOptions {
  /** Canvas size in screen pixels. */
  width: number;
  height: number;
  /** Screen pixels at the bottom the graph must keep clear of (minimap, controls). */
  reserveBottom: number;
  /** Below this the text on the cards is too small to read (12 px × 0.7 ≈ 8 px). */
  minZoom?: number;
  maxZoom?: number;
  /** Screen pixels around the graph. */
  padding?: number;
}

export const READABLE_ZOOM = 0.7;

export function readableViewport(bounds: Rect, o: FitOptions): { x: number; y: number; zoom: number } {
  const padding = o.padding ?? 24;
  const minZoom = o.minZoom ?? READABLE_ZOOM;
  const maxZoom = o.maxZoom ?? 1;
  const availW = Math.max(1, o.width - 2 * padding);
  const availH = Math.max(1, o.height - o.reserveBottom - 2 * padding);
  const fit = Math.min(availW / Math.max(1, bounds.width), availH / Math.max(1, bounds.height));
  const zoom = Math.min(maxZoom, Math.max(minZoom, fit));
  const w = bounds.width * zoom;
  const h = bounds.height * zoom;
  // Centred when it fits; otherwise the left (where a pipeline starts) and the top stay in view.
  const x = w <= availW ? padding + (availW - w) / 2 - bounds.x * zoom : padding - bounds.x * zoom;
  const y = h <= availH ? padding + (availH - h) / 2 - bounds.y * zoom : padding - bounds.y * zoom;
  return { x, y, zoom };
}
