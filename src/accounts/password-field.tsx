import { PASSWORD_MAX, PASSWORD_MIN } from "./password-policy";

/** A new password's field, with the policy's bounds and the hint every form that sets one shows. */
export function PasswordField(props: { name: string; label: string; autocomplete: string }) {
  return (
    <label>
      {props.label}
      <input name={props.name} type="password" required minlength={PASSWORD_MIN} maxlength={PASSWORD_MAX} autocomplete={props.autocomplete} />
      <span class="hint">At least {PASSWORD_MIN} characters. A few unrelated words make a strong, memorable passphrase.</span>
    </label>
  );
}
