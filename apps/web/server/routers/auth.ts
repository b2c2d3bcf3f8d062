/** Sign-in, sign-out, first-admin setup and password change (see server/auth/). */
import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { clearedSessionCookie, sessionCookie } from '../auth/cookies.ts';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, USERNAME_PATTERN } from '../auth/principal.ts';
import type { SignedIn } from '../auth/service.ts';
import { publicProcedure, type WebContext, viewerProcedure } from '../trpc.ts';

export const Username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(USERNAME_PATTERN, 'username: 2-40 lower-case letters, digits, ".", "_" or "-"');
export const Password = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `password: at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `password: at most ${PASSWORD_MAX_LENGTH} characters`);

/** Only the HTTP server has a client address; in-process callers are one client. */
const client = (ctx: WebContext) => ctx.http?.client ?? { ip: 'in-process', secure: false };

function startSession(ctx: WebContext, signedIn: SignedIn) {
  ctx.http?.setCookie(sessionCookie(signedIn.sessionToken, { secure: client(ctx).secure, maxAgeS: signedIn.maxAgeS }));
  return { user: signedIn.user };
}

export const authRouter = {
  /** What the UI needs to decide between sign-in, setup and the app. */
  me: publicProcedure.query(async ({ ctx }) => ({
    authRequired: ctx.auth.enabled,
    needsSetup: await ctx.auth.needsSetup(),
    user: ctx.principal.kind === 'anonymous' ? null : ctx.principal.user,
  })),

  /** Rate-limited per client IP and per username (SIGNIN_MAX_FAILURES per SIGNIN_WINDOW_MINUTES). */
  signIn: publicProcedure
    .input(z.object({ username: z.string().max(100), password: z.string().max(PASSWORD_MAX_LENGTH) }))
    .mutation(async ({ ctx, input }) => {
      const signedIn = await ctx.auth.signIn(input.username, input.password, client(ctx));
      await ctx.auth.signOut(ctx.principal); // the session this browser had before, if any: a new one replaces it
      return startSession(ctx, signedIn);
    }),

  signOut: publicProcedure.mutation(async ({ ctx }) => {
    await ctx.auth.signOut(ctx.principal);
    ctx.http?.setCookie(clearedSessionCookie(client(ctx).secure));
    return { ok: true };
  }),

  /** Creates the first admin with the one-time setup code from the log, while no user exists. */
  setup: publicProcedure
    .input(z.object({ setupCode: z.string().min(1).max(64), username: Username, password: Password }))
    .mutation(async ({ ctx, input }) =>
      startSession(ctx, await ctx.auth.setup(input.setupCode, input.username, input.password, client(ctx))),
    ),

  /** Ends the user's other sessions (this one stays signed in). */
  changePassword: viewerProcedure
    .input(z.object({ currentPassword: z.string().max(PASSWORD_MAX_LENGTH), newPassword: Password }))
    .mutation(async ({ ctx, input }) => {
      if (input.currentPassword === input.newPassword) {
        throw new TRPCError({ code: 'BAD_REQUEST', message: 'The new password is the same as the current one' });
      }
      await ctx.auth.changePassword(ctx.principal, input.currentPassword, input.newPassword);
      return { ok: true };
    }),
} satisfies TRPCRouterRecord;
