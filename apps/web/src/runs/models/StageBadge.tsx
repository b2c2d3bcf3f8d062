/** A model's version and stage in its product line: "v2 · production". */

export type ModelStage = 'staging' | 'production' | 'archived';

const COLORS: Record<ModelStage, { background: string; color: string }> = {
  production: { background: '#dcfce7', color: '#15803d' },
  staging: { background: '#dbeafe', color: '#1d4ed8' },
  archived: { background: '#eef0f3', color: '#57606a' },
};

const HELP: Record<ModelStage, string> = {
  production: 'What the prediction API serves for its product line',
  staging: 'A candidate: callable by version, not served by default',
  archived: 'No longer served by default; callable by version (a replaced production model can be rolled back to)',
};

export function StageBadge({ stage, version, testId = 'model-stage' }: { stage: ModelStage; version: number; testId?: string }) {
  return (
    <span className="df-badge" data-testid={testId} data-stage={stage} data-version={version} title={HELP[stage]} style={COLORS[stage]}>
      v{version} · {stage}
    </span>
  );
}
