/** What other parts of the web app embed from the runs UI (the editor shows the panel and node states). */
export { RunPanel, type RunPanelProps } from './RunPanel.tsx';
export { type NodeStates, useNodeStates, useRunEvents } from './useRunEvents.ts';
export type { NodeRunState, RunViewState } from './runState.ts';
