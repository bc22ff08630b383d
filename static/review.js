// The review page: comment on a few selected words, and see where the comments sit in the text.
// Without this script the page still works: every passage has its own "Comment" link.
(function () {
  "use strict";

  var doc = document.querySelector(".doc");
  if (!doc) return;
  // Text that is not the passage's own: the comment link, a list label, a note's back link, the name of a header
  // or footer and an image's placeholder (an image has no text).
  var NOT_TEXT = ".comment-link, .label, .backlink, .block p.muted";
  // The parts storage.blocks.block_text joins with one character: a table's rows ("\n") and cells ("\t"), the
  // paragraphs in a cell (" ") or in a note, header or footer ("\n").
  var JOINED = "p, div.table-wrap, tr, td, th";
  // White space the template puts between elements (after a list label, before a comment link) is no text.
  var GLUE_PARENTS = "li, ul, ol, div, section, table, thead, tbody, tr";

  function isText(node, block) {
    var parent = node.parentElement;
    if (!parent) return false;
    var outside = parent.closest(NOT_TEXT);
    if (outside && block.contains(outside) && outside !== block) return false;
    return !(/^\s*$/.test(node.data) && parent.matches(GLUE_PARENTS));
  }

  // The passage's text as block_text reads it: each text node of it with its offset and the length it counts
  // for (the space before the comment link does not count), and the whole text.
  function pieces(block) {
    var out = [];
    var parts = [];
    var count = 0;
    (function walk(element) {
      var started = false;
      for (var child = element.firstChild; child; child = child.nextSibling) {
        if (child.nodeType === Node.TEXT_NODE) {
          if (!isText(child, block)) continue;
          var length = child.length;
          var next = child.nextSibling;
          if (next && next.nodeType === Node.ELEMENT_NODE && next.matches(".comment-link") && /\s$/.test(child.data)) {
            length -= 1;
          }
          out.push({ node: child, start: count, length: length });
          parts.push(child.data.slice(0, length));
          count += length;
        } else if (child.nodeType === Node.ELEMENT_NODE) {
          if (child.matches(".comment-link, .backlink")) continue;
          var furnitureName = child === block.firstElementChild && child.matches("p.muted") &&
            block.closest(".page-furniture");
          if (child.matches(JOINED) && !furnitureName) {
            if (started) {
              parts.push(separator(child));
              count += 1;
            }
            started = true;
          }
          walk(child);
        }
      }
    })(block);
    return { pieces: out, length: count, text: parts.join("") };
  }

  function separator(element) {
    if (element.matches("tr")) return "\n";
    if (element.matches("td, th")) return "\t";
    return element.parentElement.matches("td, th") ? " " : "\n";
  }

  // The offset in the passage's text (its `pieces`) of a point (container, offset) inside it.
  function offsetOf(text, container, offset) {
    var point = document.createRange();
    point.setStart(container, offset);
    for (var i = 0; i < text.pieces.length; i++) {
      var piece = text.pieces[i];
      if (piece.node === container) return piece.start + Math.min(offset, piece.length);
      // The first piece at or after the point (the point is in an element or in text that does not count).
      if (point.comparePoint(piece.node, 0) >= 0) return piece.start;
    }
    return text.length;
  }

  // --- Commenting on a selection -------------------------------------------------------------
  var bar = document.getElementById("selection-bar");
  var link = bar && bar.querySelector("a");

  // The selected text goes along in the URL, which must stay under a server's limit on a request line (4 KB for
  // gunicorn); a longer selection goes by its offsets alone.
  var MAX_ENCODED_TEXT = 3000;

  function currentSelection() {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
    var range = selection.getRangeAt(0);
    var startBlock = elementOf(range.startContainer).closest(".doc .block");
    if (!startBlock || !startBlock.id || !doc.contains(startBlock)) return null;
    var passage = pieces(startBlock);  // walked once per selection change
    var start = offsetOf(passage, range.startContainer, range.startOffset);
    var end;
    if (startBlock.contains(range.endContainer)) {
      end = offsetOf(passage, range.endContainer, range.endOffset);
    } else {
      // A triple click selects a passage up to the start of the next one: that is still one passage.
      var rest = document.createRange();
      rest.setStartAfter(startBlock);
      rest.setEnd(range.endContainer, range.endOffset);
      var after = rest.cloneContents();  // a heading's comment link follows it: no text of the next passage
      Array.prototype.forEach.call(after.querySelectorAll(".comment-link"), function (a) { a.remove(); });
      if (after.textContent.trim()) return null;
      end = passage.length;
    }
    // The passage's own words, as the server reads them: not the comment link or list label a browser's
    // selection also holds.
    var text = passage.text.slice(start, end);
    if (end <= start || !text.trim()) return null;
    if (encodeURIComponent(text).length > MAX_ENCODED_TEXT) text = "";
    return { block: startBlock.id, start: start, end: end, text: text };
  }

  function elementOf(node) {
    return node.nodeType === Node.ELEMENT_NODE ? node : node.parentElement;
  }

  function showBar() {
    if (!bar) return;
    var chosen = currentSelection();
    if (!chosen) {
      bar.hidden = true;
      return;
    }
    link.href = selectionHref(chosen);
    bar.hidden = false;
  }

  function selectionHref(chosen) {
    return "comment?" + new URLSearchParams({
      block: chosen.block, start: String(chosen.start), end: String(chosen.end), text: chosen.text,
    }).toString();
  }

  if (bar) {
    var pending = null;
    document.addEventListener("selectionchange", function () {
      clearTimeout(pending);
      pending = setTimeout(showBar, 150);
    });
  }

  // --- The comment form in place -------------------------------------------------------------
  // A passage's "Comment" link (or the selection bar) opens the comment page's form right below the passage, and
  // focus moves into it; saving returns to the passage. Without this script the link opens the comment page.
  var panel = null;

  function closePanel(returnFocus) {
    if (!panel) return;
    var opener = panel.opener;
    panel.remove();
    panel = null;
    if (returnFocus && opener && document.contains(opener)) opener.focus();
  }

  function passageEnd(block) {
    return block.closest(".heading-line") || block;  // a heading's link line belongs to it
  }

  function openPanel(opener, href) {
    var blockId = new URLSearchParams(href.split("?")[1] || "").get("block");
    var block = blockId && document.getElementById(blockId);
    if (!block || !doc.contains(block)) return false;
    fetch(href, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(function (response) {
      if (!response.ok || response.redirected) throw new Error("no form");
      return response.text();
    }).then(function (html) {
      var fetched = new DOMParser().parseFromString(html, "text/html");
      var content = fetched.querySelector("[data-comment-panel]");
      var form = content && content.querySelector("form");
      if (!form) throw new Error("no form");
      closePanel(false);
      panel = document.createElement("div");
      panel.className = "comment-panel";
      panel.setAttribute("role", "group");
      var title = fetched.querySelector("main h1");
      if (title) panel.setAttribute("aria-label", title.textContent.trim());
      panel.opener = opener;
      // The passage stands right above: its copy is left out, a selection's marked copy is kept.
      var quote = content.querySelector("[data-passage]");
      if (quote) quote.remove();
      Array.prototype.forEach.call(fetched.querySelectorAll("main .flash"), function (note) {
        panel.appendChild(document.importNode(note, true));
      });
      while (content.firstChild) panel.appendChild(document.adoptNode(content.firstChild));
      // Its fields' ids would repeat those of the general comment form on this page: give them their own.
      Array.prototype.forEach.call(panel.querySelectorAll("[id]"), function (el) { el.id = "inline-" + el.id; });
      Array.prototype.forEach.call(panel.querySelectorAll("label[for]"), function (el) {
        el.htmlFor = "inline-" + el.htmlFor;
      });
      Array.prototype.forEach.call(panel.querySelectorAll("[aria-describedby]"), function (el) {
        el.setAttribute("aria-describedby", el.getAttribute("aria-describedby").split(/\s+/).map(function (id) {
          return "inline-" + id;
        }).join(" "));
      });
      var cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "secondary";
      cancel.textContent = doc.getAttribute("data-cancel-label") || "Cancel";
      cancel.addEventListener("click", function () { closePanel(true); });
      var submit = panel.querySelector("form button[type=submit]");
      if (submit) submit.insertAdjacentElement("afterend", cancel);
      var end = passageEnd(block);
      end.parentNode.insertBefore(panel, end.nextSibling);
      var first = panel.querySelector("input:not([type=hidden]), textarea");
      if (first) first.focus();
    }).catch(function () {
      window.location.href = href;  // the comment page, as without this script
    });
    return true;
  }

  doc.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("a.comment-link");
    if (!opener || event.ctrlKey || event.metaKey || event.shiftKey) return;
    // Words selected in this passage (with the keyboard too: caret browsing, then Tab to the passage's link) are
    // what the comment is on.
    var href = opener.getAttribute("href");
    var chosen = bar && currentSelection();
    if (chosen && href === "comment?block=" + chosen.block) href = selectionHref(chosen);
    if (openPanel(opener, href)) event.preventDefault();
  });
  if (link) {
    link.addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey) return;
      var chosen = currentSelection();
      if (openPanel(link, chosen ? selectionHref(chosen) : link.getAttribute("href"))) {
        event.preventDefault();
        bar.hidden = true;
      }
    });
    // Words selected from the caret (caret browsing, Shift+arrows): Tab goes on to the bar's link, so the keyboard
    // reaches it as readily as a finger does.
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Tab" || event.shiftKey || event.altKey || event.ctrlKey || event.metaKey) return;
      if (document.activeElement && document.activeElement !== document.body) return;
      if (!currentSelection()) return;
      event.preventDefault();
      showBar();
      link.focus();
    });
  }
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && panel && panel.contains(document.activeElement)) closePanel(true);
  });

  // --- Highlighting the comments in the text --------------------------------------------------
  var data = document.getElementById("comment-anchors");
  if (!data) return;
  var anchors;
  try {
    anchors = JSON.parse(data.textContent);
  } catch (error) {
    return;
  }
  var commentsUrl = doc.getAttribute("data-comments-url");

  function targetOf(commentId) {
    return document.getElementById("comment-" + commentId) ? "#comment-" + commentId
      : commentsUrl + "#comment-" + commentId;
  }

  // A highlight opens its comment in place: in the passage's list of comments, right below it.
  function showComment(commentId) {
    var inPlace = document.getElementById("in-comment-" + commentId);
    if (!inPlace) {
      window.location.href = targetOf(commentId);
      return;
    }
    var details = inPlace.closest("details");
    if (details) details.open = true;
    inPlace.tabIndex = -1;
    inPlace.focus();
  }

  // The first piece of each comment's mark is reachable with the keyboard, as a link to the comment.
  var markLabel = doc.getAttribute("data-mark-label") || "";

  function mark(block, start, end, commentId) {
    var first = true;
    var text = pieces(block).pieces;
    for (var i = 0; i < text.length && text[i].start < end; i++) {
      var node = text[i].node;
      var from = Math.max(start - text[i].start, 0);
      var to = Math.min(end - text[i].start, text[i].length);
      if (to <= from) continue;
      if (from > 0) node = node.splitText(from);
      if (to - from < node.length) node.splitText(to - from);
      var highlight = document.createElement("mark");
      highlight.className = "comment-mark";
      highlight.setAttribute("data-comment", String(commentId));
      if (first) {
        highlight.tabIndex = 0;
        highlight.setAttribute("role", "link");
        if (markLabel) highlight.setAttribute("aria-label", markLabel + ": " + node.data);
        first = false;
      }
      node.parentNode.insertBefore(highlight, node);
      highlight.appendChild(node);
    }
  }

  anchors.forEach(function (anchor) {
    var block = document.getElementById(anchor[1]);
    if (!block || !doc.contains(block)) return;
    if (anchor[2] === null) {
      block.classList.add("commented");
    } else {
      mark(block, anchor[2], anchor[3], anchor[0]);
    }
  });

  doc.addEventListener("click", function (event) {
    var highlight = event.target.closest && event.target.closest("mark.comment-mark");
    if (!highlight || window.getSelection().toString()) return;
    showComment(highlight.getAttribute("data-comment"));
  });

  doc.addEventListener("keydown", function (event) {
    var highlight = event.target.closest && event.target.closest("mark.comment-mark[tabindex]");
    if (!highlight || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    showComment(highlight.getAttribute("data-comment"));
  });
})();
