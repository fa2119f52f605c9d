import { html } from "../html.js";
import { page, type Notice, type PageContext } from "./layout.js";

export function signInPage(ctx: PageContext, o: { readonly notice?: Notice; readonly next?: string } = {}): string {
  return page(
    ctx,
    "Sign in",
    html`<form class="signin" method="post" action="/signin">
  <p>Sign in with the API key you use with <code>px</code>. What you see and may do follows your role: regulators decide, parties act on the contracts they are a side of, viewers read.</p>
  <label for="key">API key</label>
  <input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
  <input type="hidden" name="next" value="${o.next ?? "/matrix"}">
  <button type="submit">Sign in</button>
</form>`,
    o.notice ? { notice: o.notice } : {},
  );
}
