'use client';
/**
 * /admin/users — admins add users with a role, change roles, disable, reset passwords and remove.
 * The server refuses to remove, demote or disable the last active admin and says so; the message shows here.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { NEEDS_ADMIN, ROLES, type Role, useMe } from '../client/auth.ts';
import { type RouterOutputs, useTRPC } from '../client/trpc.ts';
import './auth.css';
import { MIN_PASSWORD_LENGTH, passwordProblem, USERNAME_RULE, usernameProblem } from './credentials.ts';
import { Field } from './Field.tsx';
import { when } from './format.ts';

type UserRow = RouterOutputs['users']['list'][number];

/** Disabling or removing yourself would sign you out for good: another admin has to do it. */
const SELF_LOCKOUT = 'Another admin has to do this (you would lock yourself out)';

function useRefreshUsers() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
}

function NewUser() {
  const trpc = useTRPC();
  const refresh = useRefreshUsers();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<Role>('engineer');
  const [problem, setProblem] = useState<string | null>(null);
  const [added, setAdded] = useState<string | null>(null);
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: (_r, vars) => {
        setAdded(`Added ${vars.username} (${vars.role}). Give them the password; they can change it under their name, top right.`);
        setUsername('');
        setPassword('');
        void refresh();
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const found = usernameProblem(username) ?? passwordProblem(password);
    setProblem(found);
    setAdded(null);
    if (!found) create.mutate({ username: username.trim().toLowerCase(), password, role });
  };
  const error = problem ?? create.error?.message ?? null;
  return (
    <form className="df-panel" onSubmit={submit} aria-label="Add a user" style={{ marginBottom: 16 }}>
      <div className="df-panel-title">Add a user</div>
      <div className="df-form-row">
        <Field
          id="new-user-name"
          label="Username"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          placeholder="e.g. j.smith"
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <Field
          id="new-user-password"
          label="Password"
          type="password"
          autoComplete="new-password"
          placeholder={`at least ${MIN_PASSWORD_LENGTH} characters`}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <div className="df-field">
          <label className="df-label" htmlFor="new-user-role">
            Role
          </label>
          <select id="new-user-role" className="df-select" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r.role} value={r.role}>
                {r.role}
              </option>
            ))}
          </select>
        </div>
        <button className="df-btn df-btn-primary" type="submit" disabled={create.isPending}>
          Add user
        </button>
      </div>
      <p className="df-help" style={{ marginTop: 6 }}>
        Username: {USERNAME_RULE}. A <strong>{role}</strong> {ROLES.find((r) => r.role === role)?.help}.
      </p>
      {error ? (
        <p className="df-error df-small" role="alert" data-testid="new-user-error">
          {error}
        </p>
      ) : null}
      {added ? (
        <p className="df-ok df-small" data-testid="new-user-added">
          {added}
        </p>
      ) : null}
    </form>
  );
}

function ResetPassword({ user, onDone }: { user: UserRow; onDone: (message: string | null) => void }) {
  const trpc = useTRPC();
  const [password, setPassword] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const reset = useMutation(
    trpc.users.resetPassword.mutationOptions({
      onSuccess: () => onDone(`New password set for ${user.username}; they are signed out everywhere and sign in with it.`),
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const found = passwordProblem(password);
    setProblem(found);
    if (!found) reset.mutate({ id: user.id, password });
  };
  return (
    <form className="df-row" onSubmit={submit} aria-label={`New password for ${user.username}`}>
      <input
        className="df-input"
        type="password"
        autoComplete="new-password"
        aria-label={`New password for ${user.username}`}
        placeholder={`new password, at least ${MIN_PASSWORD_LENGTH} characters`}
        // biome-ignore lint/a11y/noAutofocus: opened by the Reset password button to type this one field
        autoFocus
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        style={{ maxWidth: 300 }}
      />
      <button className="df-btn df-btn-sm df-btn-primary" type="submit" disabled={reset.isPending}>
        Set password
      </button>
      <button className="df-btn df-btn-sm" type="button" onClick={() => onDone(null)}>
        Cancel
      </button>
      {(problem ?? reset.error?.message) ? <span className="df-error df-small">{problem ?? reset.error?.message}</span> : null}
    </form>
  );
}

function UserTable({ users, myId }: { users: UserRow[]; myId: string | undefined }) {
  const trpc = useTRPC();
  const refresh = useRefreshUsers();
  const [resetting, setResetting] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const update = useMutation(trpc.users.update.mutationOptions({ onSettled: () => void refresh() }));
  const remove = useMutation(trpc.users.remove.mutationOptions({ onSettled: () => void refresh() }));
  const error = update.error?.message ?? remove.error?.message ?? null;
  return (
    <>
      {error ? (
        <div className="df-alert df-alert-error" role="alert" data-testid="users-error">
          {error}
        </div>
      ) : null}
      {notice ? <div className="df-alert df-alert-info">{notice}</div> : null}
      <div className="df-panel" style={{ padding: 0 }}>
        <table className="df-table" data-testid="user-list">
          <thead>
            <tr>
              <th>Username</th>
              <th>Role</th>
              <th>Status</th>
              <th>Created</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {users.map((u) => {
              const disabled = Boolean(u.disabled);
              const me = u.id === myId;
              return (
                <tr key={u.id} data-testid="user-row" data-username={u.username}>
                  <td>
                    <strong>{u.username}</strong> {me ? <span className="df-badge">you</span> : null}
                  </td>
                  <td>
                    <select
                      className="df-select"
                      aria-label={`Role of ${u.username}`}
                      value={u.role}
                      disabled={update.isPending}
                      onChange={(e) => {
                        const role = e.target.value as Role;
                        if (me && role !== 'admin' && !window.confirm(`Make yourself ${role}? You lose the admin pages, Users included.`)) return;
                        update.reset();
                        update.mutate({ id: u.id, role });
                      }}
                    >
                      {ROLES.map((r) => (
                        <option key={r.role} value={r.role} title={r.help}>
                          {r.role}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    {disabled ? <span className="df-badge df-status-failed">disabled</span> : <span className="df-badge df-status-succeeded">active</span>}
                  </td>
                  <td className="df-small df-muted">{when(u.createdAt)}</td>
                  <td>
                    {resetting === u.id ? (
                      <ResetPassword
                        user={u}
                        onDone={(message) => {
                          setResetting(null);
                          setNotice(message);
                        }}
                      />
                    ) : (
                      <div className="df-row" style={{ justifyContent: 'flex-end' }}>
                        <button
                          type="button"
                          className="df-btn df-btn-sm"
                          disabled={update.isPending || me}
                          title={
                            me
                              ? SELF_LOCKOUT
                              : disabled
                                ? 'Let this user sign in again'
                                : 'Sign this user out and refuse their sign-ins and API tokens until enabled again'
                          }
                          onClick={() => {
                            update.reset();
                            update.mutate({ id: u.id, disabled: !disabled });
                          }}
                        >
                          {disabled ? 'Enable' : 'Disable'}
                        </button>
                        <button
                          type="button"
                          className="df-btn df-btn-sm"
                          onClick={() => {
                            setNotice(null);
                            setResetting(u.id);
                          }}
                        >
                          Reset password
                        </button>
                        <button
                          type="button"
                          className="df-btn df-btn-sm df-btn-danger"
                          disabled={remove.isPending || me}
                          title={me ? SELF_LOCKOUT : undefined}
                          onClick={() => {
                            if (window.confirm(`Remove ${u.username}? They can no longer sign in, and their API tokens stop working.`)) {
                              remove.reset();
                              remove.mutate({ id: u.id });
                            }
                          }}
                        >
                          Remove
                        </button>
                      </div>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

export function UsersPage() {
  const trpc = useTRPC();
  const { me, authRequired, user } = useMe();
  const admin = authRequired && user?.role === 'admin';
  const users = useQuery({ ...trpc.users.list.queryOptions(), enabled: admin });
  return (
    <div className="df-page" style={{ maxWidth: 1080 }}>
      <div className="df-page-head">
        <h1>Users</h1>
      </div>
      {me && !authRequired ? (
        <div className="df-alert df-alert-info" data-testid="users-off">
          This server runs without accounts (AUTH=off, loopback only). To have users, start it with <code>AUTH=on</code> (or on a
          network address) and <code>ADMIN_USERNAME</code>/<code>ADMIN_PASSWORD</code> for the first admin.
        </div>
      ) : null}
      {me && authRequired && !admin ? (
        <div className="df-alert df-alert-warn" data-testid="users-forbidden">
          Managing users {NEEDS_ADMIN}; you are {user?.role === 'engineer' ? 'an engineer' : `a ${user?.role ?? 'visitor'}`}.
        </div>
      ) : null}
      {admin ? (
        <>
          <NewUser />
          {users.error ? <div className="df-alert df-alert-error">Could not load users: {users.error.message}</div> : null}
          {users.data ? <UserTable users={users.data} myId={user?.id} /> : null}
          <p className="df-help" style={{ marginTop: 12 }}>
            {ROLES.map((r) => (
              <span key={r.role} style={{ display: 'block' }}>
                <strong>{r.role}</strong>: {r.help}.
              </span>
            ))}
          </p>
        </>
      ) : null}
    </div>
  );
}
