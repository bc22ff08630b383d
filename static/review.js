// The review page: comment on a few selected words, and see where the comments sit in the text.
// Without this script the page still works: every passage has its own "Comment" link.
(function () {
  "use strict";

  var doc = document.querySelector(".doc");
  if (!doc) return;
  // Text that is not the passage's own: the comment link, a list label, a note's back link.
  var NOT_TEXT = ".comment-link, .label, .backlink";

  function isText(node, block) {
    var parent = node.parentElement;
    return !(parent && parent.closest(NOT_TEXT) && block.contains(parent.closest(NOT_TEXT)));
  }

  function textNodes(block) {
    var walker = document.createTreeWalker(block, NodeFilter.SHOW_TEXT);
    var nodes = [];
    for (var node = walker.nextNode(); node; node = walker.nextNode()) {
      if (isText(node, block)) nodes.push(node);
    }
    return nodes;
  }

  // The offset in the passage's text of a point (container, offset) inside it.
  function offsetOf(block, container, offset) {
    var range = document.createRange();
    range.setStart(block, 0);
    range.setEnd(container, offset);
    var count = 0;
    var nodes = textNodes(block);
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node === container) return count + offset;
      if (!range.intersectsNode(node)) break;
      count += node.length;
    }
    return count;
  }

  // --- Commenting on a selection -------------------------------------------------------------
  var bar = document.getElementById("selection-bar");
  var link = bar && bar.querySelector("a");

  function currentSelection() {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
    var range = selection.getRangeAt(0);
    var startBlock = elementOf(range.startContainer).closest(".doc .block");
    var endBlock = elementOf(range.endContainer).closest(".doc .block");
    if (!startBlock || startBlock !== endBlock || !startBlock.id) return null;
    var text = selection.toString();
    if (!text.trim()) return null;
    var start = offsetOf(startBlock, range.startContainer, range.startOffset);
    var end = offsetOf(startBlock, range.endContainer, range.endOffset);
    if (end <= start) return null;
    return { block: startBlock.id, start: start, end: end, text: text.slice(0, 2000) };
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

  function mark(block, start, end, commentId) {
    var nodes = textNodes(block);
    var position = 0;
    for (var i = 0; i < nodes.length && position < end; i++) {
      var node = nodes[i];
      var from = Math.max(start - position, 0);
      var to = Math.min(end - position, node.length);
      position += node.length;
      if (to <= from) continue;
      if (from > 0) node = node.splitText(from);
      if (to - from < node.length) node.splitText(to - from);
      var highlight = document.createElement("mark");
      highlight.className = "comment-mark";
      highlight.setAttribute("data-comment", String(commentId));
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
})();
