/*
 * The player of the book's matplotlib animations, with frames loaded on
 * demand.
 *
 * A chapter's animation is matplotlib's to_jshtml() output: its frames
 * as base64 PNGs in the page, an inline "Animation" class that decodes
 * them all at once, and a script that starts the player. In the built
 * book (book/_ext/lean_pages.py) each frame is a file under _images/,
 * the first one is the <img>'s src, and this script replaces the inline
 * class. It has the same name and methods (the player's buttons call
 * them), but a frame is fetched when it is first shown, and all frames
 * when the reader first plays the animation, so the page loads one
 * frame per animation.
 */
(function () {
  "use strict";

  function Player(frames, imgId, sliderId, interval, loopSelectId) {
    this.frames = frames.slice();
    this.img_id = imgId;
    this.slider_id = sliderId;
    this.loop_select_id = loopSelectId;
    this.interval = interval;
    this.current_frame = 0;
    this.direction = 0;
    this.timer = null;
    this.cache = null;
    document.getElementById(sliderId).max = this.frames.length - 1;
    this.set_frame(0);
  }

  // Fetch every frame once, so that playing does not wait on the network.
  Player.prototype.fetch_all = function () {
    if (this.cache) {
      return;
    }
    this.cache = this.frames.map(function (url) {
      var image = new Image();
      image.src = url;
      return image;
    });
  };

  Player.prototype.get_loop_state = function () {
    var form = document[this.loop_select_id];
    var buttons = form ? form.state : [];
    for (var k = 0; k < buttons.length; k += 1) {
      if (buttons[k].checked) {
        return buttons[k].value;
      }
    }
    return undefined;
  };

  Player.prototype.set_frame = function (frame) {
    this.current_frame = frame;
    var img = document.getElementById(this.img_id);
    var url = this.frames[frame];
    if (img.getAttribute("src") !== url) {
      img.src = url;
    }
    document.getElementById(this.slider_id).value = frame;
  };

  Player.prototype.next_frame = function () {
    this.set_frame(Math.min(this.frames.length - 1, this.current_frame + 1));
  };

  Player.prototype.previous_frame = function () {
    this.set_frame(Math.max(0, this.current_frame - 1));
  };

  Player.prototype.first_frame = function () {
    this.set_frame(0);
  };

  Player.prototype.last_frame = function () {
    this.set_frame(this.frames.length - 1);
  };

  Player.prototype.restart = function () {
    if (this.direction > 0) {
      this.play_animation();
    } else if (this.direction < 0) {
      this.reverse_animation();
    }
  };

  Player.prototype.slower = function () {
    this.interval /= 0.7;
    this.restart();
  };

  Player.prototype.faster = function () {
    this.interval *= 0.7;
    this.restart();
  };

  Player.prototype.anim_step_forward = function () {
    if (this.current_frame + 1 < this.frames.length) {
      this.set_frame(this.current_frame + 1);
      return;
    }
    var state = this.get_loop_state();
    if (state === "loop") {
      this.first_frame();
    } else if (state === "reflect") {
      this.last_frame();
      this.reverse_animation();
    } else {
      this.pause_animation();
      this.last_frame();
    }
  };

  Player.prototype.anim_step_reverse = function () {
    if (this.current_frame > 0) {
      this.set_frame(this.current_frame - 1);
      return;
    }
    var state = this.get_loop_state();
    if (state === "loop") {
      this.last_frame();
    } else if (state === "reflect") {
      this.first_frame();
      this.play_animation();
    } else {
      this.pause_animation();
      this.first_frame();
    }
  };

  Player.prototype.pause_animation = function () {
    this.direction = 0;
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  };

  Player.prototype.run = function (direction, step) {
    this.pause_animation();
    this.fetch_all();
    this.direction = direction;
    var player = this;
    this.timer = setInterval(function () {
      step.call(player);
    }, this.interval);
  };

  Player.prototype.play_animation = function () {
    this.run(1, this.anim_step_forward);
  };

  Player.prototype.reverse_animation = function () {
    this.run(-1, this.anim_step_reverse);
  };

  // The name the pages' start-up scripts and buttons use.
  window.Animation = Player;
}());
