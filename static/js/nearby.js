// Work only for what is seen: whenNear(element, load) returns want(); after want(), load() runs as soon
// as the element is within 200 px of the viewport (at once if it already is), once per want().

// A little ahead of the viewport, so a section's data is usually there when it scrolls in, but not so far
// that the first screen pulls in the sections (and the chart library) below it.
const MARGIN = '200px 0px';

export function whenNear(element, load) {
  let wanted = false;
  let near = false;
  const fire = () => {
    if (!wanted || !near) return;
    wanted = false;
    load();
  };
  const observer = new IntersectionObserver((entries) => {
    near = entries[entries.length - 1].isIntersecting;
    fire();
  }, { rootMargin: MARGIN });
  observer.observe(element);
  const want = () => {
    wanted = true;
    fire();
  };
  want.isNear = () => near;
  return want;
}
