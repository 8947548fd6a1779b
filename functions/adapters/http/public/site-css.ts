/**
 * The one stylesheet of the public pages, served at `/assets/site.css` so the CSP can forbid
 * inline styles. Plain, readable on a phone, WCAG AA contrast, visible focus, honours
 * reduced motion and a dark preference.
 */
export const SITE_CSS = `
:root {
  --text: #1b1b1b; --muted: #4a4a4a; --bg: #ffffff; --panel: #f3f4f6; --line: #c9ccd1;
  --accent: #0b4fa3; --accent-text: #ffffff; --focus: #ffbf47; --ok: #136b32; --bad: #b3261e; --info: #0b4fa3;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root { --text: #eceff3; --muted: #c3c8cf; --bg: #121417; --panel: #1d2126; --line: #4a5059;
    --accent: #8cb8ff; --accent-text: #0b1320; --ok: #7fd69b; --bad: #ff9a91; --info: #8cb8ff; }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0; font: 1.0625rem/1.6 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--text); background: var(--bg); }
.visually-hidden { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.skip { position: absolute; left: -999px; top: 0; background: var(--focus); color: #000; padding: .5rem 1rem; }
.skip:focus { left: 0; }
header.site { border-bottom: 4px solid var(--accent); padding: 1rem; }
header.site p { margin: 0; font-weight: 700; font-size: 1.125rem; }
main { max-width: 42rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
footer.site { max-width: 42rem; margin: 0 auto; padding: 1rem; color: var(--muted); font-size: .9375rem; border-top: 1px solid var(--line); }
h1 { font-size: 1.875rem; line-height: 1.2; margin: 0 0 1rem; }
h2 { font-size: 1.375rem; margin: 2rem 0 .5rem; }
a { color: var(--accent); text-underline-offset: .15em; }
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible, summary:focus-visible, [tabindex]:focus-visible {
  outline: 3px solid var(--focus); outline-offset: 2px; box-shadow: 0 0 0 6px var(--text);
}
fieldset { border: 0; padding: 0; margin: 0 0 1.5rem; min-width: 0; }
legend { font-weight: 700; font-size: 1.25rem; margin-bottom: .5rem; padding: 0; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
.hint { color: var(--muted); margin: 0 0 .5rem; font-size: .9375rem; }
input[type=email], input[type=text], textarea {
  width: 100%; max-width: 32rem; font: inherit; padding: .5rem .625rem; color: var(--text); background: var(--bg);
  border: 2px solid var(--text); border-radius: 0;
}
textarea { min-height: 6rem; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9375rem; }
.field { margin-bottom: 1.25rem; }
.field.error { border-left: 5px solid var(--bad); padding-left: .75rem; }
.field-error { color: var(--bad); font-weight: 700; margin: 0 0 .375rem; }
button { font: inherit; font-weight: 700; padding: .625rem 1.25rem; color: var(--accent-text); background: var(--accent); border: 2px solid transparent; cursor: pointer; }
button:hover { filter: brightness(1.1); }
.error-summary { border: 4px solid var(--bad); padding: 1rem; margin-bottom: 1.5rem; }
.error-summary h2 { margin-top: 0; }
.error-summary a { color: var(--bad); font-weight: 700; }
.panel { background: var(--panel); padding: 1rem; margin: 1rem 0; border-left: 5px solid var(--info); }
.panel.ok { border-left-color: var(--ok); }
.panel.bad { border-left-color: var(--bad); }
.status-tag { display: inline-block; font-weight: 700; padding: .125rem .5rem; border: 2px solid currentColor; }
ol.timeline { list-style: none; padding: 0; margin: 1rem 0; border-left: 3px solid var(--line); }
ol.timeline li { position: relative; padding: 0 0 1rem 1.25rem; }
ol.timeline li::before { content: ""; position: absolute; left: -.5rem; top: .45rem; width: .75rem; height: .75rem; border-radius: 50%; background: var(--info); }
ol.timeline li.done::before { background: var(--ok); }
ol.timeline li.problem::before { background: var(--bad); }
ol.timeline time { display: block; color: var(--muted); font-size: .875rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
dl.facts dt { font-weight: 700; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
code, .receipt { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.receipt { display: block; width: 100%; min-height: 8rem; font-size: .8125rem; }
@media (max-width: 30rem) { h1 { font-size: 1.5rem; } dl.facts { grid-template-columns: 1fr; } }
@media (prefers-reduced-motion: reduce) { * { transition: none !important; animation: none !important; } }
`;
