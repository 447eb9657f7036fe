"""git layer: worktrees on a temp repo; the main checkout is never changed."""

import shutil
import unittest

from helpers import commit_files, git, make_repo, mminions, temp_dir
from parallel import load_tests  # noqa: F401  (the suite's classes run in a pool: tests/parallel.py)


class GitTests(unittest.TestCase):
    def setUp(self):
        self.root = temp_dir(self)
        self.repo = make_repo(self.root / "repo", {"a.py": "x = 1\n"})
        self.second = commit_files(self.repo, {"a.py": "x = 2\n"}, "second", 1)
        (self.repo / "untracked.txt").write_text("mine")
        (self.repo / "a.py").write_text("x = 'dirty'\n")

    def test_resolve_and_head(self):
        self.assertTrue(mminions.is_repo(self.repo))
        self.assertFalse(mminions.is_repo(self.root))
        self.assertEqual(mminions.head_sha(self.repo), self.second)
        self.assertEqual(len(mminions.resolve(self.repo, "HEAD~1")), 40)
        with self.assertRaises(mminions.GitError) as ctx:
            mminions.resolve(self.repo, "no-such-ref")
        self.assertIn("'no-such-ref' is not a commit", str(ctx.exception))

    def test_worktree_add_remove_keeps_checkout(self):
        before = mminions.checkout_fingerprint(self.repo)
        git_dir = self.repo / ".git"
        snapshot = {p: p.read_bytes() for p in git_dir.rglob("*") if p.is_file()}
        wt = mminions.worktree_add(self.repo, self.root / "wts" / "w1", "HEAD~1")
        self.assertEqual((wt / "a.py").read_text(), "x = 1\n")
        (wt / "a.py").write_text("changed in worktree")
        # what runs in it can do anything to its own .git: the user's is another one
        git(wt, "branch", "-f", "main", "HEAD")
        git(wt, "config", "user.name", "someone else")
        self.assertEqual(mminions.worktrees(self.repo)[1:], [])
        mminions.worktree_remove(self.repo, wt)
        self.assertEqual({p: p.read_bytes() for p in git_dir.rglob("*") if p.is_file()}, snapshot)  # byte-identical
        self.assertFalse(wt.exists())
        self.assertEqual(len(mminions.worktrees(self.repo)), 1)
        after = mminions.checkout_fingerprint(self.repo)
        self.assertEqual(mminions.fingerprint_diff(before, after), [])
        self.assertEqual((self.repo / "a.py").read_text(), "x = 'dirty'\n")

    def test_remove_after_manual_delete(self):
        wt = mminions.worktree_add(self.repo, self.root / "w2", "HEAD")
        shutil.rmtree(wt)
        mminions.worktree_remove(self.repo, wt)
        self.assertEqual(len(mminions.worktrees(self.repo)), 1)

    def test_fingerprint_detects_change(self):
        before = mminions.checkout_fingerprint(self.repo)
        (self.repo / "new.txt").write_text("x")
        after = mminions.checkout_fingerprint(self.repo)
        self.assertEqual(mminions.fingerprint_diff(before, after), ["status: + ?? new.txt"])


if __name__ == "__main__":
    unittest.main()
