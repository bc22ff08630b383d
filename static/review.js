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
      if (rest.toString().trim()) return null;
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
    link.href = "comment?" + new URLSearchParams({
      block: chosen.block, start: String(chosen.start), end: String(chosen.end), text: chosen.text,
    }).toString();
    bar.hidden = false;
  }

  if (bar) {
    var pending = null;
    document.addEventListener("selectionchange", function () {
      clearTimeout(pending);
      pending = setTimeout(showBar, 150);
    });
  }

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
    window.location.href = targetOf(highlight.getAttribute("data-comment"));
  });

  doc.addEventListener("keydown", function (event) {
    var highlight = event.target.closest && event.target.closest("mark.comment-mark[tabindex]");
    if (!highlight || (event.key !== "Enter" && event.key !== " ")) return;
    event.preventDefault();
    window.location.href = targetOf(highlight.getAttribute("data-comment"));
  });
})();
