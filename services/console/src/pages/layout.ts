/** The frame of every page: skip link, navigation, who is signed in, and the page's main content. */
import { html, type Html } from "../html.js";
import type { Session } from "../session.js";

export interface PageContext {
  readonly session?: Session;
  /** The CSRF token for the page's forms. */
  readonly csrf?: string;
  /** Path of the page, to mark the current navigation item. */
  readonly path: string;
}

export interface Notice {
  readonly kind: "ok" | "error";
  readonly text: string;
  readonly hint?: string;
}

const NAV = [
  { href: "/matrix", label: "Who receives what" },
  { href: "/proposals", label: "Proposals" },
  { href: "/ledger", label: "Ledger" },
  { href: "/live", label: "Live flow" },
] as const;

export const csrfField = (ctx: PageContext): Html => html`<input type="hidden" name="_csrf" value="${ctx.csrf ?? ""}">`;

export function notice(n: Notice | undefined): Html {
  if (!n) return html``;
  return html`<div class="notice notice-${n.kind}" role="${n.kind === "error" ? "alert" : "status"}"><p>${n.text}</p>${n.hint ? html`<p class="hint">${n.hint}</p>` : ""}</div>`;
}

export function page(ctx: PageContext, title: string, main: Html, o: { readonly notice?: Notice } = {}): string {
  const s = ctx.session;
  const nav = s
    ? html`<nav aria-label="Console"><ul>${NAV.map((n) => html`<li><a href="${n.href}"${ctx.path.startsWith(n.href) ? html` aria-current="page"` : ""}>${n.label}</a></li>`)}</ul></nav>
      <form class="who" method="post" action="/signout">${csrfField(ctx)}<span data-testid="who">${s.id} · <strong>${s.role}</strong>${s.party ? html` of ${s.party}` : ""}</span> <button type="submit">Sign out</button></form>`
    : html``;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Parcel Exchange console</title>
<link rel="stylesheet" href="/assets/console.css">
<script src="/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header><a class="brand" href="/">Parcel Exchange</a>${nav}</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${notice(o.notice)}
${main}
</main>
</body>
</html>`.value;
}
