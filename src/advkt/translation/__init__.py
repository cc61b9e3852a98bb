"""Image-to-image translation (issue #19): CycleGAN's and pix2pix's networks and losses, with the
width as a parameter so that one family gives a teacher and its ½ and ¼ students."""
