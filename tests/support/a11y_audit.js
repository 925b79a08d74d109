// An axe-like check without a network: what a screen reader user needs first.
// Returns the problems found on the page, one line each; [] when none.
const problems = [];
const lang = document.documentElement.getAttribute('lang');
if (!lang) problems.push('no lang on <html>');
if (document.querySelectorAll('h1').length !== 1) problems.push('not one h1');
let last = 0;
for (const h of document.querySelectorAll('h1,h2,h3,h4,h5,h6')) {
  const level = +h.tagName[1];
  if (level > last + 1) problems.push('heading skips to ' + h.tagName + ': ' + h.textContent);
  last = level;
}
for (const tag of ['main', 'header', 'footer']) {
  if (!document.querySelector(tag)) problems.push('no <' + tag + '> landmark');
}
for (const input of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  const label = input.id && document.querySelector('label[for="' + input.id + '"]');
  if (!label && !input.getAttribute('aria-label')) problems.push('unlabelled input ' + (input.name || input.id));
}
for (const b of document.querySelectorAll('button, a')) {
  if (!(b.textContent.trim() || b.getAttribute('aria-label'))) problems.push('a control without a name');
}
function rgb(c) { return c.match(/[\d.]+/g).map(Number); }
function lum(c) { const [r, g, b] = rgb(c).slice(0, 3).map(v => { v /= 255;
  return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b; }
function background(el) { for (; el; el = el.parentElement) {
  const c = getComputedStyle(el).backgroundColor; const v = rgb(c);
  if (v.length < 4 || v[3] > 0) return c; } return 'rgb(255, 255, 255)'; }
for (const el of document.querySelectorAll('p, td, th, label, a, button, dt, dd, h1, h2, h3, legend, span, strong')) {
  if (!el.textContent.trim() || !el.offsetParent) continue;
  const s = getComputedStyle(el);
  const a = lum(s.color), b = lum(background(el));
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) problems.push('contrast ' + ratio.toFixed(2) + ' on ' + el.tagName + ': ' + el.textContent.trim().slice(0, 30));
}
return problems;
