// Work only for what is seen: whenNear(element, load) returns want(); after want(), load() runs as soon
// as the element is within about a screen of the viewport (at once if it already is), once per want().

const MARGIN = '100% 0px';

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
