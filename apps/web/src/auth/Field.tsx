/**
 * One labelled text box of the account forms: the label tied to the input by `id` (so a click on it and
 * screen readers find the box), the input, and an optional line of help under it.
 */
import type { ComponentProps, CSSProperties, ReactNode } from 'react';

type FieldProps = Omit<ComponentProps<'input'>, 'id' | 'className'> & {
  id: string;
  label: ReactNode;
  help?: ReactNode;
  /** Classes added to `df-input`, e.g. `df-mono`. */
  inputClassName?: string;
  /** Style of the box around label, input and help (e.g. to let it grow in a row). */
  fieldStyle?: CSSProperties;
};

export function Field({ id, label, help, inputClassName, fieldStyle, ...input }: FieldProps) {
  return (
    <div className="df-field" style={fieldStyle}>
      <label className="df-label" htmlFor={id}>
        {label}
      </label>
      <input id={id} className={inputClassName ? `df-input ${inputClassName}` : 'df-input'} {...input} />
      {help ? <span className="df-help">{help}</span> : null}
    </div>
  );
}
