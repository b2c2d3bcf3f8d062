'use client';
/**
 * A model's stage in its product line and the one-click moves (engineer): promote to production (the production
 * model it replaces is archived), roll back (the previous production model returns; this one goes back to
 * staging), archive a candidate or bring it back to staging. Viewers see the stage, the buttons disabled.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { NEEDS_ENGINEER, useMe } from '../../client/auth.ts';
import { useTRPC } from '../../client/trpc.ts';
import { type ModelStage, StageBadge } from './StageBadge.tsx';

export interface StagedModel {
  id: string;
  name: string;
  version: number;
  stage: ModelStage;
  productLineId: string | null;
}

/** Invalidates every models.* query (list, get, line) after a stage change. */
function useRefreshModels() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => void queryClient.invalidateQueries({ queryKey: trpc.models.pathKey() });
}

/** "Roll back to vN" for a product line; nothing when the line has no earlier production model. */
export function RollbackButton({ productLineId }: { productLineId: string | null }) {
  const trpc = useTRPC();
  const { canEdit } = useMe();
  const refresh = useRefreshModels();
  const line = useQuery(trpc.models.line.queryOptions({ productLineId }));
  const rollback = useMutation(trpc.models.rollback.mutationOptions({ onSuccess: refresh }));
  const target = line.data?.rollbackTo;
  if (!target) return null;
  return (
    <>
      <button
        type="button"
        className="df-btn df-btn-sm"
        data-testid="model-rollback"
        disabled={!canEdit || rollback.isPending}
        title={
          canEdit
            ? `Put v${target.version} (${target.name}) back in production; the current production model returns to staging`
            : NEEDS_ENGINEER
        }
        onClick={() => rollback.mutate({ productLineId })}
      >
        Roll back to v{target.version}
      </button>
      {rollback.error ? (
        <span role="alert" className="df-error df-small">
          {rollback.error.message}
        </span>
      ) : null}
    </>
  );
}

export function StageControls({ model, lineName }: { model: StagedModel; lineName?: string }) {
  const trpc = useTRPC();
  const { canEdit } = useMe();
  const refresh = useRefreshModels();
  const promote = useMutation(trpc.models.promote.mutationOptions({ onSuccess: refresh }));
  const setStage = useMutation(trpc.models.setStage.mutationOptions({ onSuccess: refresh }));
  const error = promote.error ?? setStage.error;
  const line = lineName ? ` of ${lineName}` : '';
  return (
    <span style={{ display: 'inline-flex', gap: 8, alignItems: 'center', flexWrap: 'wrap' }} data-testid="model-stage-controls">
      <StageBadge stage={model.stage} version={model.version} />
      {model.stage === 'production' ? (
        <>
          <span className="df-small df-muted">the production model{line}</span>
          <RollbackButton productLineId={model.productLineId} />
        </>
      ) : (
        <button
          type="button"
          className="df-btn df-btn-sm df-btn-primary"
          data-testid="model-promote"
          disabled={!canEdit || promote.isPending}
          title={canEdit ? `Serve this model for its product line; the current production model is archived (roll back restores it)` : NEEDS_ENGINEER}
          onClick={() => promote.mutate({ id: model.id })}
        >
          Promote to production
        </button>
      )}
      {model.stage === 'staging' ? (
        <button
          type="button"
          className="df-btn df-btn-sm"
          data-testid="model-archive"
          disabled={!canEdit || setStage.isPending}
          title={canEdit ? 'Retire this candidate (it stays callable by version)' : NEEDS_ENGINEER}
          onClick={() => setStage.mutate({ id: model.id, stage: 'archived' })}
        >
          Archive
        </button>
      ) : null}
      {model.stage === 'archived' ? (
        <button
          type="button"
          className="df-btn df-btn-sm"
          data-testid="model-unarchive"
          disabled={!canEdit || setStage.isPending}
          title={canEdit ? 'Make it a candidate again' : NEEDS_ENGINEER}
          onClick={() => setStage.mutate({ id: model.id, stage: 'staging' })}
        >
          Back to staging
        </button>
      ) : null}
      {error ? (
        <span role="alert" className="df-error df-small">
          {error.message}
        </span>
      ) : null}
    </span>
  );
}
