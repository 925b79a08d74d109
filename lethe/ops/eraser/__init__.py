"""Reference erasers for erasure orders (file:// now). Import kafka/, never cli/."""
