"""The ops: each module holds one family, each op's forward and backward side by side."""
