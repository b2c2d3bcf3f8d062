/** What flows on an edge. The canvas colours handles by these and refuses mismatches. */
export const PORT_TYPES = ['Dataset', 'Backbone', 'Model', 'TrainedModel', 'Metrics', 'Deployment'] as const;
export type PortType = (typeof PORT_TYPES)[number];

export const PORT_COLORS: Record<PortType, string> = {
  Dataset: '#2f9e44',
  Backbone: '#1971c2',
  Model: '#7048e8',
  TrainedModel: '#e8590c',
  Metrics: '#c2255c',
  Deployment: '#495057',
};

export interface PortSpec {
  /** Handle id on the canvas and in edges (`sourceHandle` / `targetHandle`). */
  name: string;
  type: PortType;
  label?: string;
  /** Inputs only: an optional input may be left unconnected. */
  optional?: boolean;
}
