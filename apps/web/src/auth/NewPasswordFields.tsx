/** A new password asked twice (what passwordProblem(password, repeated) checks), the length rule under the first box. */
import { MIN_PASSWORD_LENGTH } from './credentials.ts';
import { Field } from './Field.tsx';

export function NewPasswordFields(props: {
  id: string;
  againId: string;
  /** The first box's label; the second one's is this + " again". */
  label: string;
  password: string;
  repeated: string;
  onPassword: (value: string) => void;
  onRepeated: (value: string) => void;
}) {
  return (
    <>
      <Field
        id={props.id}
        label={props.label}
        help={`At least ${MIN_PASSWORD_LENGTH} characters.`}
        type="password"
        autoComplete="new-password"
        value={props.password}
        onChange={(e) => props.onPassword(e.target.value)}
      />
      <Field
        id={props.againId}
        label={`${props.label} again`}
        type="password"
        autoComplete="new-password"
        value={props.repeated}
        onChange={(e) => props.onRepeated(e.target.value)}
      />
    </>
  );
}
