// How a widget lives in a notebook page (JupyterLab, Notebook 7, VS Code, Colab).

/**
 * Keep the page's keyboard handling off keys pressed on the widget's own controls.
 *
 * Two listeners above the widget act on keys: Lumino's keybindings (JupyterLab, Notebook 7),
 * which stop at an element marked `data-lm-suppress-shortcuts` on their way up from the focused
 * one, and the notebook's own keydown handler, which moves between cells on the arrow keys and
 * cancels them. Without both guards a focused slider never sees its arrow keys and "d d" on a
 * focused control deletes the cell. Keys pressed elsewhere in the widget still reach the page.
 */
export function suppressShortcuts(element) {
  element.setAttribute("data-lm-suppress-shortcuts", "true");
  element.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea, button")) event.stopPropagation();
  });
  return element;
}
