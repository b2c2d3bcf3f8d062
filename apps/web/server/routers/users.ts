/** User management (admin only). The last active admin cannot be removed, demoted or disabled (CONFLICT). */
import type { User } from '@defectflow/db';
import { USER_ROLES } from '@defectflow/db';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { adminProcedure } from '../trpc.ts';
import { Password, Username } from './auth.ts';

const Id = z.string().min(1).max(100);
const Role = z.enum(USER_ROLES);

/** Never the password hash. */
const view = (u: User) => ({ id: u.id, username: u.username, role: u.role, disabled: u.disabled === 1, createdAt: u.createdAt });

export const usersRouter = {
  list: adminProcedure.query(async ({ ctx }) => (await ctx.repo.users.list()).map(view)),

  create: adminProcedure
    .input(z.object({ username: Username, password: Password, role: Role }))
    .mutation(({ ctx, input }) => ctx.auth.createUser(input.username, input.password, input.role)),

  /** Disabling ends the user's sessions at once; their API tokens stop working while disabled. */
  update: adminProcedure
    .input(z.object({ id: Id, role: Role.optional(), disabled: z.boolean().optional() }))
    .mutation(async ({ ctx, input }) => view(await ctx.auth.updateUser(input.id, { role: input.role, disabled: input.disabled }))),

  /** Ends the user's sessions. */
  resetPassword: adminProcedure.input(z.object({ id: Id, password: Password })).mutation(async ({ ctx, input }) => {
    await ctx.auth.resetPassword(input.id, input.password);
    return { ok: true };
  }),

  remove: adminProcedure.input(z.object({ id: Id })).mutation(async ({ ctx, input }) => {
    await ctx.auth.removeUser(input.id);
    return { ok: true };
  }),
} satisfies TRPCRouterRecord;
