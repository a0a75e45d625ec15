// In-page links (the skip link, the stage nav) scroll to their section and move focus there without
// touching the address bar, whose hash holds the shared reconstruction state (features/reconstructionShare.js).

export function keepHash(root = document) {
  root.addEventListener('click', (e) => {
    const link = e.target.closest?.('a[href^="#"]');
    if (!link || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const target = document.getElementById(link.getAttribute('href').slice(1));
    if (!target) return;
    e.preventDefault();
    if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1'); // focusable, not a tab stop
    target.scrollIntoView();
    target.focus({ preventScroll: true });
  });
}
