/* newswatch: the one way the dashboard's scripts make HTML elements.
 *
 * Text is set with textContent only: feed text (titles, names, amounts) may carry hostile
 * markup and is never parsed. Exposes window.NewswatchDom.el(name, className, text, parent).
 */
(function () {
  "use strict";

  function el(name, className, text, parent) {
    const node = document.createElement(name);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (parent) parent.appendChild(node);
    return node;
  }

  window.NewswatchDom = { el: el };
})();
